"""sfdeclare: declarative Service Fabric periodic backup configuration."""

__version__ = "0.1.0"

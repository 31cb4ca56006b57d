"""Views: values in, text out (text, JSON, Markdown, GitHub annotations, JUnit), one registry per kind of
document. Every user-facing summary sentence lives here.
"""

"""doc_templates package."""

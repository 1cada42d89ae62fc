"""Parameters: declared once (schema), valued with citations (data files), validated on load."""

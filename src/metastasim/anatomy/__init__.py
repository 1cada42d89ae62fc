"""Anatomy: sites, venous drainage and blood flow that route circulating cells."""

"""Agent Skills: models, parse/validate/render, test cases, import/export, leak checks."""

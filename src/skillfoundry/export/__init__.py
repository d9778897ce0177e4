"""Exporters of stored runs into other tools' formats."""

"""skillfoundry: distil a teacher's know-how into an Agent Skill and measure its lift on students."""

__version__ = "0.1.0"

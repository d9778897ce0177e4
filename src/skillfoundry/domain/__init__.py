"""Task domains: what the teacher solves and what the students are tested on."""

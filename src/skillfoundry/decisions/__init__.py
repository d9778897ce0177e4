"""From runs to decisions: settings display, run comparison, deployment recommendation, progress."""

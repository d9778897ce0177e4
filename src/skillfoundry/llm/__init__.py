"""Model access: model specs, local servers, the teacher agent loop and student chat clients."""

"""Results for admins in chat: access, commands, report text and charts."""

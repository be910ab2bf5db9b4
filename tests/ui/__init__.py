"""Real-browser tests of the dashboard (Playwright driving Debian's Chromium)."""

"""The browser UI served by the api under /ui/: server-rendered pages, htmx and Server-Sent Events (decisions D28)."""

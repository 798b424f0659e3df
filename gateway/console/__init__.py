"""The browser faces of the gateway (``http.console = true``): a handset for testers and demos
(``/console/handset``) and the operator's live console (``/console``), served by the gateway's own HTTP server,
plain HTML, CSS and a little JavaScript (docs/console.md)."""

"""The dashboard's pages, a module per area; each route reads through the parts and the
read model, shapes what it got for its template, and renders."""

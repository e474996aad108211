"""Content: templates (Liquid + MJML), rendering, link tracking, text parts."""

"""Dashboard pages: each module's ``render(api, options)`` draws one page."""

"""Dashboard pages: each module's ``render(api, options)`` draws one page.

Named ``views``, not ``pages``: Streamlit would list a ``pages/`` folder beside the script itself.
"""

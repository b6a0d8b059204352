"""The registry side: COSD v10 XML for the trust's monthly submission and the analyst's report."""

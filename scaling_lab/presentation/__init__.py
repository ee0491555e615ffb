"""The presentation layer: explorers (live panels in Jupyter, precomputed sliders on the site) and the plot style."""

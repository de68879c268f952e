"""Outreach services besides bookmobile routes: mobile collections, home and hospital
delivery (Maribor), their recorded visits, delivery rounds' stop order, and their figures
for the coverage report."""

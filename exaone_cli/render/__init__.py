"""Renderers: functions of result objects. stdout gets the product, stderr the people's things."""

"""Renderers: functions of result objects. stdout gets the product, stderr the people's things.
May import api, the command packages and the shared layers; never cli/.
"""

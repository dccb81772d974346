"""Lawful retention, evidence preservation and judicial requests.

The identifying traffic data French law requires a host to keep (LCEN art. 6, décret
n° 2021-1362) lives here, in its own database, encrypted, purged after the retention period and
reachable only through a judicial request that a legal officer registered. See docs/legal.md.
"""

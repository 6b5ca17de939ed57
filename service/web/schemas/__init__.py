"""Request and response bodies, one module per subject.

``base`` (StrictBody: every request refuses unknown fields), ``participants``,
``staff`` (sign-in, sites), ``alerts`` (alerts and the inbox), ``checkins`` (records
as staff read them), ``mobile`` (the participant app), ``messages`` and ``edc``.
"""

"""The EDC mapping, pure: protocol and records in, REDCap and CDISC ODM shapes out.

* :mod:`.model` -- the vocabulary (fields, instruments, events, the mapping);
* :mod:`.naming` -- REDCap's own naming rules (unique event and group names);
* :mod:`.forms` -- protocol file -> instruments and events;
* :mod:`.redcap_setup` -- the project set-up tables REDCap imports.

No I/O, no clock: the actions hand in the protocol, labels and records.
"""

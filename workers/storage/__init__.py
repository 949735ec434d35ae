"""The storage worker: volumes on one storage host, exported over iSCSI (nova-volume)."""

"""Deletion, erasure and retention of personal data (PIPL Art. 19, 47), and the office scope of
voiceprints.

- ``deletion``: a hearing deleted with everything that holds its personal data — audio and
  session folder, drafts and documents, queued webhook messages (delivered ones keep ids and
  hashes only) — every file failure reported and kept for a retry (``PendingRemoval``);
- ``erasure``: one party's personal data replaced by a placeholder in a hearing's records;
- ``retention``: closed hearings' audio purged after the office's retention period;
- ``voiceprints``: which office a voiceprint belongs to, listed and deleted by office.

Each writes its audit entry in the transaction that makes the change.
"""

"""What the uploads domain announces, for the domains built on it to act on.

Uploads knows nothing of registrations: whether staff may read a document, or whether it
may be deleted, depends on where it was submitted, which registrations decide by
subscribing here at start-up (`backend.registrations.init_app`). Signals are sent inside
the request's transaction; the `*_asked` signals are questions — one `True` decides.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Documents were created, moved to another owner, deleted or purged.
#: kwargs: upload_ids (list[str]), change ("created" | "moved" | "deleted" | "purged").
#: "purged" happens outside a request and is final at once; the others at commit.
upload_changed = _signals.signal("upload-changed")

#: Asked before a parent deletes a document: answer True if it is in use (submitted).
#: sender: the Upload.
upload_delete_asked = _signals.signal("upload-delete-asked")

#: Asked when a member of staff wants to read a document: answer True to allow it.
#: sender: the Upload; kwargs: user (the staff User). Nobody answering means no.
staff_read_asked = _signals.signal("staff-read-asked")

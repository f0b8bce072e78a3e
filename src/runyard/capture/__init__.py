"""What a run records about itself, shared by the SDK and the runners.

A folder's snapshot (``snapshot``), its git state (``git``), a recorded error (``error``) and
the upload of a run's new files (``outputs``). Both ``sdk/`` and ``runners/`` import this
package; it imports only ``store``, ``entities``, ``errors``, ``limits`` and ``settings``, never
the layers above it.
"""

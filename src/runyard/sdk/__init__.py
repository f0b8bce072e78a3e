"""The user-facing classes; they hold a Store, never a particular backend."""

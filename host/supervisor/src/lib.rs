//! `qmlbridge-supervisor`: everything the desktop host decides about its backend, with no Qt type.

//! DataFrame methods: window (see the parent module).

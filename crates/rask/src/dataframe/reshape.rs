//! DataFrame methods: reshape (see the parent module).

//! DataFrame methods: transform (see the parent module).

//! DataFrame methods: partition (see the parent module).

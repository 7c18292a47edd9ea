//! DataFrame methods: aggregate (see the parent module).

//! Process-wide settings for programs built on rask (the `rask` and `rask-bench` binaries).

/// Sets glibc's allocator up for query execution: a query allocates and frees many column
/// buffers of a few hundred KiB to a few MiB (decompressed Parquet pages, decoded columns).
/// With glibc's defaults each of those above 128 KiB is a fresh `mmap` that the kernel
/// zero-fills page by page and a `munmap` when freed, and the heap is trimmed back to the
/// system as soon as 128 KiB lie free at its top: page faults and `memset` took 15-20% of a
/// Parquet scan's profile (TPC-H lineitem, `sum(l_extendedprice)`: 0.055 s, 0.036 s with
/// these settings). Blocks up to 32 MiB now come from the heap, which keeps up to 256 MiB
/// free before trimming and grows 64 MiB at a time. Freed memory stays reusable inside the
/// process, not counted twice: peak RSS over the 22 TPC-H queries at scale 1 was unchanged
/// (about 260 MB). Call it first thing in `main`; elsewhere than glibc it does nothing.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

//! Generates DPDK bindings with bindgen and builds the C shim that exports
//! DPDK's static-inline fast-path functions as real symbols.

use std::env;
use std::path::PathBuf;

fn main() {
    let lib = pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .expect("libdpdk not found by pkg-config: run ./scripts/setup.sh (apt: libdpdk-dev)");

    // DPDK's headers need its cflags (e.g. `-include rte_config.h`, -march).
    let cflags = pkg_config::get_variable("libdpdk", "cflags").unwrap_or_default();
    let raw = std::process::Command::new("pkg-config").args(["--cflags", "libdpdk"]).output().expect("pkg-config");
    let flags: Vec<String> = String::from_utf8_lossy(&raw.stdout).split_whitespace().map(str::to_owned).collect();
    let _ = cflags;

    let mut cc = cc::Build::new();
    cc.file("csrc/shim.c").opt_level(3).warnings(true);
    for f in pair_flags(&flags) {
        for part in f {
            cc.flag(&part);
        }
    }
    cc.compile("rvs_dpdk_shim");

    let mut b = bindgen::Builder::default()
        .header("csrc/shim.h")
        .allowlist_function("rvs_.*")
        .allowlist_function(FUNCS.join("|"))
        .allowlist_var(
            "RVS_.*|RTE_ETH_.*|RTE_MBUF_.*|RTE_PKTMBUF_.*|RING_F_.*|RTE_MAX_LCORE|RTE_ETHER_.*|SOCKET_ID_ANY|RTE_MEMPOOL_.*",
        )
        .opaque_type("rte_l2tpv2_combined_msg_hdr|rte_flow_item_.*|rte_gtp_.*")
        .derive_default(true)
        .derive_debug(false)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for f in pair_flags(&flags) {
        for part in f {
            b = b.clang_arg(part);
        }
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("dpdk.rs");
    b.generate().expect("bindgen failed on DPDK headers").write_to_file(out).unwrap();

    // Keep rte_* libraries even if only the shim references them.
    for l in &lib.libs {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
    println!("cargo:rerun-if-changed=csrc/shim.c");
    println!("cargo:rerun-if-changed=csrc/shim.h");
}

/// The DPDK API rvs uses (the types are pulled in transitively).
const FUNCS: &[&str] = &[
    "rte_eal_init",
    "rte_eal_cleanup",
    "rte_eal_get_runtime_dir",
    "rte_strerror",
    "rte_socket_id",
    "rte_eal_remote_launch",
    "rte_eal_wait_lcore",
    "rte_eal_mp_wait_lcore",
    "rte_get_next_lcore",
    "rte_lcore_count",
    "rte_get_main_lcore",
    "rte_get_tsc_hz",
    "rte_pktmbuf_pool_create",
    "rte_mempool_free",
    "rte_mempool_in_use_count",
    "rte_mempool_lookup",
    "rte_ring_create",
    "rte_ring_free",
    "rte_eth_dev_configure",
    "rte_eth_rx_queue_setup",
    "rte_eth_tx_queue_setup",
    "rte_eth_dev_start",
    "rte_eth_dev_stop",
    "rte_eth_dev_close",
    "rte_eth_macaddr_get",
    "rte_eth_link_get_nowait",
    "rte_eth_stats_get",
    "rte_eth_stats_reset",
    "rte_eth_dev_get_port_by_name",
    "rte_dev_probe",
    "rte_eth_dev_get_name_by_port",
    "rte_eth_dev_info_get",
    "rte_eth_dev_set_mtu",
    "rte_eth_dev_get_mtu",
    "rte_lcore_is_enabled",
    "rte_eth_promiscuous_enable",
    "rte_eth_allmulticast_enable",
    "rte_eth_dev_count_avail",
    "rte_eth_dev_socket_id",
    "rte_eth_dev_is_valid_port",
    "rte_eth_dev_rss_reta_update",
    "rte_eth_dev_rss_reta_query",
    "rte_eth_dev_rss_hash_update",
    "rte_eth_dev_rss_hash_conf_get",
];

/// Keep `-include X` together as one unit.
fn pair_flags(flags: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        if f == "-include" {
            if let Some(v) = it.next() {
                out.push(vec![f.clone(), v.clone()]);
            }
        } else {
            out.push(vec![f.clone()]);
        }
    }
    out
}

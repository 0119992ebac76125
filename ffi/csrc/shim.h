/* rvs C shim: DPDK's fast-path API is static inline in the headers, so
 * Rust cannot call it directly. These wrappers give each one a symbol. */
#ifndef RVS_SHIM_H
#define RVS_SHIM_H
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>
#include <rte_pause.h>
#include <rte_thash.h>

typedef void (*rvs_log_fn)(const char *buf, size_t len);
/* Send DPDK's log messages to fn (callable before rte_eal_init). */
int rvs_log_to(rvs_log_fn fn);
uint16_t rvs_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t rvs_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *rvs_pktmbuf_alloc(struct rte_mempool *mp);
int rvs_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned n);
void rvs_pktmbuf_free(struct rte_mbuf *m);
void rvs_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned n);
char *rvs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *rvs_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *rvs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int rvs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t rvs_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t rvs_pktmbuf_tailroom(const struct rte_mbuf *m);
int rvs_pktmbuf_linearize(struct rte_mbuf *m);
unsigned rvs_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n);
unsigned rvs_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n);
unsigned rvs_ring_count(const struct rte_ring *r);
unsigned rvs_lcore_id(void);
uint64_t rvs_rdtsc(void);
void rvs_pause(void);
int rvs_errno(void);
unsigned rvs_mempool_avail(const struct rte_mempool *mp);
/* Longest input rvs_softrss takes, in 32-bit words (IPv6 + ports is 9). */
#define RVS_SOFTRSS_MAX_WORDS 16
uint32_t rvs_softrss(const uint32_t *input, uint32_t input_len, const uint8_t *key, uint32_t key_len);
uint64_t rvs_rss_types_l3l4(void);
/* RTE_ETH_RX_OFFLOAD_IPV4_CKSUM (an RTE_BIT64 bindgen cannot expand). */
uint64_t rvs_rx_offload_ipv4_cksum(void);
uint64_t rvs_rss_types_l4_required(void);
#endif

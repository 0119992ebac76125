#define _GNU_SOURCE
#include "shim.h"
#include <stdio.h>
#include <string.h>
#include <rte_log.h>

uint16_t rvs_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{ return rte_eth_rx_burst(port, queue, pkts, n); }
uint16_t rvs_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{ return rte_eth_tx_burst(port, queue, pkts, n); }
struct rte_mbuf *rvs_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
int rvs_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned n)
{ return rte_pktmbuf_alloc_bulk(mp, mbufs, n); }
void rvs_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
void rvs_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned n) { rte_pktmbuf_free_bulk(mbufs, n); }
char *rvs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *rvs_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
char *rvs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
int rvs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
uint16_t rvs_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t rvs_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
int rvs_pktmbuf_linearize(struct rte_mbuf *m) { return rte_pktmbuf_linearize(m); }
unsigned rvs_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n)
{ return rte_ring_enqueue_burst(r, objs, n, NULL); }
unsigned rvs_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n)
{ return rte_ring_dequeue_burst(r, objs, n, NULL); }
unsigned rvs_ring_count(const struct rte_ring *r) { return rte_ring_count(r); }
unsigned rvs_lcore_id(void) { return rte_lcore_id(); }
uint64_t rvs_rdtsc(void) { return rte_rdtsc(); }
void rvs_pause(void) { rte_pause(); }
int rvs_errno(void) { return rte_errno; }
unsigned rvs_mempool_avail(const struct rte_mempool *mp) { return rte_mempool_avail_count(mp); }

/* rte_softrss reads the key as 32-bit words (key_len >= (input_len + 1) * 4,
 * checked by the Rust side); copy it to an aligned buffer first. */
uint32_t rvs_softrss(const uint32_t *input, uint32_t input_len, const uint8_t *key, uint32_t key_len)
{
	uint32_t in[RVS_SOFTRSS_MAX_WORDS];
	uint32_t k[RVS_SOFTRSS_MAX_WORDS + 1];
	if (input_len > RVS_SOFTRSS_MAX_WORDS || key_len > sizeof(k) || key_len < (input_len + 1) * 4)
		return 0;
	memcpy(in, input, input_len * 4);
	memcpy(k, key, key_len);
	return rte_softrss(in, input_len, (const uint8_t *)k);
}
/* The RSS types rvs asks for: IPv4/IPv6 addresses, with TCP/UDP ports when
 * present. Not the IPv6 *_EX types: they hash addresses from extension
 * headers (home address, routing) that the software hash never sees. The
 * RTE_ETH_RSS_* macros are RTE_BIT64() calls bindgen cannot evaluate. */
uint64_t rvs_rss_types_l3l4(void)
{
	return (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
	       ~(RTE_ETH_RSS_IPV6_EX | RTE_ETH_RSS_IPV6_TCP_EX | RTE_ETH_RSS_IPV6_UDP_EX);
}
/* What a device must hash for rvs to predict its queues. */
uint64_t rvs_rss_types_l4_required(void)
{
	return RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_TCP |
	       RTE_ETH_RSS_NONFRAG_IPV6_UDP;
}

uint64_t rvs_rx_offload_ipv4_cksum(void)
{
	return RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
}

/* DPDK's log messages, handed to a callback (rvs turns them into tracing
 * events) through a stdio cookie stream set as rte_log's stream. Each
 * rte_log call ends in fflush, so one write is one message. */
static rvs_log_fn rvs_log_cb;
static ssize_t rvs_log_write(void *cookie, const char *buf, size_t size)
{
    (void)cookie;
    if (rvs_log_cb)
        rvs_log_cb(buf, size);
    return (ssize_t)size;
}
int rvs_log_to(rvs_log_fn fn)
{
    cookie_io_functions_t io = { .read = NULL, .write = rvs_log_write, .seek = NULL, .close = NULL };
    FILE *f = fopencookie(NULL, "w", io);
    if (f == NULL)
        return -1;
    setvbuf(f, NULL, _IOLBF, 0);
    rvs_log_cb = fn;
    return rte_openlog_stream(f);
}

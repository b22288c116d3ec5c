/* MixQuant's elementwise passes in one sweep each (search/ckernels.py builds and loads this file; search/supernet.py
 * has the same arithmetic in torch, used where no C compiler is at hand and as the tests' reference).
 *
 *   forward:  out = sum_j ws_j * clamp(rint(x / s_j), lo_j, hi_j)          (ws_j = w_j * s_j)
 *   backward: gx  = g * (free + sum_{j in masked} w_j * [a_j <= x < b_j])  (straight-through, clamped copies masked)
 *             gw_j = sum g * clamp(rint(x / s_j), lo_j, hi_j)               (the mixing weights' gradient, / s_j)
 *
 * x, g and out are dense float32 arrays of n elements in one memory order. rint rounds half to even, as
 * torch.round does; the division is a true division, as torch.div. Work is split over `nthreads` OpenMP threads
 * (the caller passes torch's intra-op thread count); each thread sweeps its range in blocks that stay in L1. */
#include <math.h>
#include <stdint.h>

#define MAXJ 8
#define MAXT 64
#define BLK 512

typedef struct {
    const float *x, *g;
    float *out;
    int64_t a, b;
    int J, grad_x, grad_w;
    float ws[MAXJ], s[MAXJ], lo[MAXJ], hi[MAXJ];     /* forward, and the copies for gw */
    float wm[MAXJ], ma[MAXJ], mb[MAXJ], free_;      /* backward masks */
    int M;
    double gw[MAXJ];
} job_t;

static inline float quant(float x, float s, float lo, float hi) {
    float q = rintf(x / s);
    q = q < lo ? lo : q;
    return q > hi ? hi : q;
}

static void *forward_run(void *p) {
    job_t *t = p;
    for (int64_t a = t->a; a < t->b; a += BLK) {
        const int m = (int)(t->b - a < BLK ? t->b - a : BLK);
        const float *xb = t->x + a;
        float *ob = t->out + a;
        for (int j = 0; j < t->J; j++) {
            const float s = t->s[j], lo = t->lo[j], hi = t->hi[j], ws = t->ws[j];
            if (j == 0)
                for (int i = 0; i < m; i++) ob[i] = quant(xb[i], s, lo, hi) * ws;
            else
                for (int i = 0; i < m; i++) ob[i] += quant(xb[i], s, lo, hi) * ws;
        }
    }
    return 0;
}

static void *backward_run(void *p) {
    job_t *t = p;
    float f[BLK];
    for (int j = 0; j < t->J; j++) t->gw[j] = 0.0;
    for (int64_t a = t->a; a < t->b; a += BLK) {
        const int m = (int)(t->b - a < BLK ? t->b - a : BLK);
        const float *xb = t->x + a, *gb = t->g + a;
        if (t->grad_x) {
            for (int i = 0; i < m; i++) f[i] = t->free_;
            for (int k = 0; k < t->M; k++) {
                const float lo = t->ma[k], hi = t->mb[k], w = t->wm[k];
                for (int i = 0; i < m; i++) f[i] += (xb[i] >= lo && xb[i] < hi) ? w : 0.0f;
            }
            float *ob = t->out + a;
            for (int i = 0; i < m; i++) ob[i] = gb[i] * f[i];
        }
        if (t->grad_w)
            for (int j = 0; j < t->J; j++) {
                const float s = t->s[j], lo = t->lo[j], hi = t->hi[j];
                float acc = 0.0f;
                for (int i = 0; i < m; i++) acc += gb[i] * quant(xb[i], s, lo, hi);
                t->gw[j] += acc;        /* float within a block, double across blocks */
            }
    }
    return 0;
}

static void run(job_t *jobs, int nthreads, void *(*fn)(void *)) {
    /* OpenMP: loaded after torch, this library binds to the libgomp that torch brought (same soname), so the
     * sweep runs on torch's own worker threads instead of competing with them while they spin between ops */
#pragma omp parallel for num_threads(nthreads) schedule(static, 1)
    for (int k = 0; k < nthreads; k++) fn(&jobs[k]);
}

static int split(job_t *jobs, const job_t *proto, int64_t n, int nthreads) {
    if (nthreads < 1) nthreads = 1;
    if (nthreads > MAXT) nthreads = MAXT;
    if (n < (int64_t)nthreads * 4 * BLK) nthreads = 1;      /* small tensors: one thread, no start-up cost */
    for (int k = 0; k < nthreads; k++) {
        jobs[k] = *proto;
        jobs[k].a = (n * k / nthreads) / BLK * BLK;
        jobs[k].b = k == nthreads - 1 ? n : (n * (k + 1) / nthreads) / BLK * BLK;
    }
    return nthreads;
}

int mixq_forward(const float *x, float *out, int64_t n, int J, const float *ws, const float *s, const float *lo,
                 const float *hi, int nthreads) {
    job_t proto = {0}, jobs[MAXT];
    if (J < 1 || J > MAXJ) return -1;
    proto.x = x; proto.out = out; proto.J = J;
    for (int j = 0; j < J; j++) { proto.ws[j] = ws[j]; proto.s[j] = s[j]; proto.lo[j] = lo[j]; proto.hi[j] = hi[j]; }
    run(jobs, split(jobs, &proto, n, nthreads), forward_run);
    return 0;
}

/* gx (when gx != 0) and gw[J] (when gw != 0, the sums of g times each copy, before the factor s_j). */
int mixq_backward(const float *g, const float *x, float *gx, int64_t n, float free_, int M, const float *wm,
                  const float *ma, const float *mb, int J, const float *s, const float *lo, const float *hi,
                  double *gw, int nthreads) {
    job_t proto = {0}, jobs[MAXT];
    if (J < 0 || J > MAXJ || M < 0 || M > MAXJ) return -1;
    proto.x = x; proto.g = g; proto.out = gx; proto.J = gw ? J : 0; proto.M = M; proto.free_ = free_;
    proto.grad_x = gx != 0; proto.grad_w = gw != 0;
    for (int k = 0; k < M; k++) { proto.wm[k] = wm[k]; proto.ma[k] = ma[k]; proto.mb[k] = mb[k]; }
    for (int j = 0; j < J; j++) { proto.s[j] = s[j]; proto.lo[j] = lo[j]; proto.hi[j] = hi[j]; }
    int nt = split(jobs, &proto, n, nthreads);
    run(jobs, nt, backward_run);
    if (gw)
        for (int j = 0; j < J; j++) {
            gw[j] = 0.0;
            for (int k = 0; k < nt; k++) gw[j] += jobs[k].gw[j];
        }
    return 0;
}

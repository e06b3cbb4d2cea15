"""The compiled period loop of the supply simulation (numba), one replication per call of
:func:`simulate_rep`, a range of them per call of :func:`simulate_range` (which releases the GIL, so
that the engine runs ranges on parallel threads).

The arrays are built by :mod:`fluxwise.supply.engine` (columns named by the constants below); the
timing convention and the equations are in the docstring of :mod:`fluxwise.supply.engine`. The
same function runs uncompiled as ``simulate_rep.py_func`` — the plain per-replication Python loop
the benchmark measures against.

State per replication: stock of every item as lots (quantity, period from which it is no longer
usable), sorted by that period and issued first-expiry-first-out; backorders; units on order; an
arrival calendar per item and lane; the last arrival per lane (orders do not overtake unless the
source allows crossing); allocation allowances; the start of a backup's qualification; per batch
group a FIFO queue of the planned periods of the batches waiting to start.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# item float columns
F_P1, F_P2, F_NEED, F_SPARES, F_USAGE, F_START, F_START_LIFE = range(7)
N_ITEM_F = 7
# item int columns
(I_POL, I_REUSES, I_GROUP, I_RAND, I_HASDEM, I_WHOLE, I_EXPLANE, I_EXPWITHIN, I_RULE, I_NL) = range(10)
N_ITEM_I = 10
# lane float / int columns
LF_FRAC, LF_LIFE, LF_MOQ, LF_PACK, LF_ALLOC = range(5)
N_LANE_F = 5
LI_SRC, LI_RANDLANE = range(2)
N_LANE_I = 2
# source float / int columns
SF_QC, SF_QUAL, SF_ALLOC_A, SF_ALLOC_B = range(4)
N_SRC_F = 4
SI_NTAB, SI_CROSS, SI_NWIN = range(3)
N_SRC_I = 3
# policy codes
POL_BASE, POL_SS, POL_RQ = 0, 1, 2
# source rules
RULE_SINGLE, RULE_SPLIT, RULE_BACKUP = 0, 1, 2
# item statistics
(
    S_DEMAND,
    S_SERVED,
    S_STOCKOUT,
    S_PERIODS,
    S_ONHAND,
    S_BACKLOG,
    S_EXPIRED,
    S_ORDERS,
    S_ORDERED,
    S_RECEIVED,
    S_CUT,
    S_EXPEDITED,
    S_EXP_ORDERS,
    S_CONSUMED,
    S_SCRAPPED,
    S_BATCH_NEEDS,
    S_BATCH_SHORT,
    S_END_ONHAND,
    S_WAITING_UNITS,
) = range(19)
N_STAT = 19
# lane statistics
L_UNITS, L_ORDERS = range(2)
N_LANE_STAT = 2
# group (campaign) statistics
G_PLANNED, G_STARTED, G_ONTIME, G_DELAYED, G_LOST, G_WAITING, G_DELAY_SUM = range(7)
N_GROUP_STAT = 7

#: Lots of one item kept apart; beyond this a new lot is merged into its neighbour with the
#: earlier expiry (conservative: never makes stock last longer).
MAX_LOTS = 64
_EPS = 1e-9


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _slot(head, k, cap):
    j = head + k
    return j - cap if j >= cap else j


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _add_lot(lq, le, lh, nlot, i, q, e):
    """Insert q units usable until period e into item i's lots (a ring buffer sorted by e)."""
    cap = lq.shape[1]
    n = nlot[i]
    h = lh[i]
    pos = n
    while pos > 0 and le[i, _slot(h, pos - 1, cap)] > e:
        pos -= 1
    if pos > 0 and le[i, _slot(h, pos - 1, cap)] == e:
        lq[i, _slot(h, pos - 1, cap)] += q
        return
    if n == cap:
        if pos > 0:
            lq[i, _slot(h, pos - 1, cap)] += q
        else:
            lq[i, h] += q
            le[i, h] = e
        return
    for k in range(n, pos, -1):
        a, b = _slot(h, k, cap), _slot(h, k - 1, cap)
        lq[i, a] = lq[i, b]
        le[i, a] = le[i, b]
    a = _slot(h, pos, cap)
    lq[i, a] = q
    le[i, a] = e
    nlot[i] = n + 1


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _issue(lq, le, lh, nlot, i, q):
    """Take q units of item i, first expiry first out."""
    cap = lq.shape[1]
    while q > _EPS and nlot[i] > 0:
        h = lh[i]
        take = min(q, lq[i, h])
        lq[i, h] -= take
        q -= take
        if lq[i, h] <= _EPS:
            lh[i] = h + 1 if h + 1 < cap else 0
            nlot[i] -= 1


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _round_order(q, moq, pack, whole):
    if whole:
        q = math.ceil(q - _EPS)
    if q < moq:
        q = moq
    if pack > 1.0:
        q = math.ceil(q / pack - _EPS) * pack
    return q


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _place(
    r,
    t,
    T,
    i,
    l,
    q,
    warm,
    itm_i,
    ln_f,
    ln_i,
    src_f,
    src_i,
    src_tab,
    wadj,
    u_lead,
    nxt,
    arr,
    last_arr,
    onorder,
    st,
    lst,
):
    """Ship and schedule one order of q units of item i on lane l; returns nothing.

    It leaves at ``nxt[t, s]`` (the first period from t in which the source is up and outside its
    windows) and arrives at ⌈t_ship + L + t_QC⌉, moved to the end of a window it falls in (``wadj``)."""
    s = ln_i[i, l, LI_SRC]
    ts = nxt[t, s]
    ntab = src_i[s, SI_NTAB]
    u = u_lead[r, t, itm_i[i, I_RAND], ln_i[i, l, LI_RANDLANE]]
    k = int(u * ntab)
    if k >= ntab:
        k = ntab - 1
    a = int(math.ceil(ts + src_tab[s, k] + src_f[s, SF_QC] - _EPS))
    if a < T:
        a = wadj[s, a]
    if src_i[s, SI_CROSS] == 0 and a < last_arr[i, l]:
        a = last_arr[i, l]
    last_arr[i, l] = a
    if a < arr.shape[0]:
        arr[a, i, l] += q
    onorder[i] += q
    if t >= warm:
        lst[i, l, L_UNITS] += q
        lst[i, l, L_ORDERS] += 1.0
        st[i, S_ORDERS] += 1.0
        st[i, S_ORDERED] += q


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_rep(
    r,
    T,
    warm,
    max_delay,
    itm_f,
    itm_i,
    level,
    fc,
    ln_f,
    ln_i,
    src_f,
    src_i,
    src_tab,
    wadj,
    grp_items,
    grp_n,
    u_lead,
    demand,
    planned,
    up,
    fail_pos,
    out_item,
    out_lane,
    out_group,
    out_inv,
    trace_recv,
    trace_il,
    keep_inv,
    trace,
):
    """Simulate replication ``r`` over ``T`` periods, adding its statistics into the output arrays."""
    I = itm_f.shape[0]
    KL = ln_f.shape[1]
    G = grp_n.shape[0]
    lq = np.empty((I, MAX_LOTS))  # lots beyond nlot are never read
    le = np.empty((I, MAX_LOTS), dtype=np.int64)
    st = np.zeros((I, N_STAT))
    lst = np.zeros((I, KL, N_LANE_STAT))
    gst = np.zeros((max(G, 1), N_GROUP_STAT))
    nlot = np.zeros(I, dtype=np.int64)
    lh = np.zeros(I, dtype=np.int64)
    onhand = np.zeros(I)
    backlog = np.zeros(I)
    onorder = np.zeros(I)
    arr = np.zeros((T, I, KL))
    last_arr = np.full((I, KL), -1, dtype=np.int64)
    alloc_acc = np.zeros((I, KL))
    qual_start = np.full(src_f.shape[0], -1, dtype=np.int64)
    tested = np.zeros(I, dtype=np.int64)
    fptr = np.zeros(I, dtype=np.int64)
    set_left = np.zeros(I, dtype=np.int64)  # batches the set in use still serves (0: a new set is due)
    goodq = np.zeros(I)
    short = np.zeros(I, dtype=np.bool_)
    req = np.zeros(I)
    virt = np.zeros(I)
    reqptr = np.zeros(I, dtype=np.int64)
    qcap = 1
    for t in range(T):
        qcap += planned[r, t]
    q_plan = np.zeros((max(G, 1), qcap), dtype=np.int64)
    q_head = np.zeros(max(G, 1), dtype=np.int64)
    q_len = np.zeros(max(G, 1), dtype=np.int64)
    F = fail_pos.shape[2]
    # first period from t in which each source can ship: up, and outside its disruption windows
    NS = src_f.shape[0]
    nxt = np.empty((T + 1, NS), dtype=np.int64)
    for s_ in range(NS):
        nxt[T, s_] = T
        for t in range(T - 1, -1, -1):
            nxt[t, s_] = t if (up[r, t, s_] != 0 and wadj[s_, t] == t) else nxt[t + 1, s_]
    has_alloc = np.zeros(I, dtype=np.bool_)
    for i in range(I):
        for l in range(KL):
            if ln_f[i, l, LF_ALLOC] > 0:
                has_alloc[i] = True
    big = np.int64(1) << 60

    for i in range(I):
        if itm_f[i, F_START] > 0:
            life = itm_f[i, F_START_LIFE]
            e = big if life > 1e15 else int(math.floor(life + _EPS))
            _add_lot(lq, le, lh, nlot, i, itm_f[i, F_START], e)
            onhand[i] = itm_f[i, F_START]

    for t in range(T):
        counted = t >= warm
        # ---- 1. orders, at the start of the period, on the inventory position
        for i in range(I):
            g = itm_i[i, I_GROUP]
            pend = q_len[g] * itm_f[i, F_USAGE] if g >= 0 else 0.0
            ip = onhand[i] - backlog[i] + onorder[i] - pend
            base = level[i, t] + itm_f[i, F_P1]
            pol = itm_i[i, I_POL]
            q = 0.0
            if pol == POL_BASE:
                if ip < base - _EPS:
                    q = base - ip
            elif pol == POL_SS:
                if ip <= base + _EPS:
                    q = base + itm_f[i, F_P2] - ip
            else:
                if ip <= base + _EPS:
                    qq = itm_f[i, F_P2]
                    q = (math.floor((base - ip) / qq + _EPS) + 1.0) * qq
            nl = itm_i[i, I_NL]
            for l in range(KL if has_alloc[i] else 0):  # allocation allowances accrue inside their windows
                if l < nl or l == itm_i[i, I_EXPLANE]:
                    s = ln_i[i, l, LI_SRC]
                    if src_f[s, SF_ALLOC_A] <= t < src_f[s, SF_ALLOC_B]:
                        alloc_acc[i, l] += ln_f[i, l, LF_ALLOC]
            if q <= _EPS:
                continue
            whole = itm_i[i, I_WHOLE] == 1
            # which lane(s)
            xl = itm_i[i, I_EXPLANE]
            lane = -1
            if xl >= 0:
                proj = onhand[i] - backlog[i] - pend
                w = itm_i[i, I_EXPWITHIN]
                for u in range(t, min(t + w, T)):
                    for l in range(KL):
                        proj += arr[u, i, l]
                for u in range(t, t + w):
                    proj -= fc[i, u]
                if proj < -_EPS:
                    lane = xl
            rule = itm_i[i, I_RULE]
            if lane < 0 and rule == RULE_BACKUP:
                lane = 0
                s0 = ln_i[i, 0, LI_SRC]
                if nxt[t, s0] != t:
                    for l in range(1, nl):
                        s = ln_i[i, l, LI_SRC]
                        qt = src_f[s, SF_QUAL]
                        if qt > 0 and qual_start[s] < 0:
                            qual_start[s] = t  # change control starts when the primary first fails
                        if qt > 0 and t < qual_start[s] + qt:
                            continue
                        if nxt[t, s] == t:
                            lane = l
                            break
            if lane < 0 and rule == RULE_SINGLE:
                lane = 0
            first_l, last_l = (lane, lane + 1) if lane >= 0 else (0, nl)
            rest = q
            for l in range(first_l, last_l):
                if lane >= 0:
                    ql = q
                elif l == last_l - 1:
                    ql = rest
                else:
                    ql = q * ln_f[i, l, LF_FRAC]
                    if whole:
                        ql = math.floor(ql + _EPS)
                rest -= ql
                if ql <= _EPS:
                    continue
                ql = _round_order(ql, ln_f[i, l, LF_MOQ], ln_f[i, l, LF_PACK], whole)
                s = ln_i[i, l, LI_SRC]
                if src_f[s, SF_ALLOC_A] <= t < src_f[s, SF_ALLOC_B]:
                    cap = alloc_acc[i, l]
                    if whole:
                        cap = math.floor(cap + _EPS)
                    ship = min(ql, cap)
                    alloc_acc[i, l] -= ship
                    if counted:
                        st[i, S_CUT] += ql - ship
                    ql = ship
                    if ql <= _EPS:
                        continue
                if l == xl and counted:
                    st[i, S_EXPEDITED] += ql
                    st[i, S_EXP_ORDERS] += 1.0
                _place(
                    r,
                    t,
                    T,
                    i,
                    l,
                    ql,
                    warm,
                    itm_i,
                    ln_f,
                    ln_i,
                    src_f,
                    src_i,
                    src_tab,
                    wadj,
                    u_lead,
                    nxt,
                    arr,
                    last_arr,
                    onorder,
                    st,
                    lst,
                )

        # ---- 2. receipts, 3. expiry, backorders filled first
        for i in range(I):
            got = 0.0
            for l in range(KL):
                q = arr[t, i, l]
                if q > 0:
                    life = ln_f[i, l, LF_LIFE]
                    e = big if life > 1e15 else t + int(math.floor(life + _EPS))
                    _add_lot(lq, le, lh, nlot, i, q, e)
                    got += q
            onorder[i] -= got
            onhand[i] += got
            if trace:
                trace_recv[r, t, i] = got
            while nlot[i] > 0 and le[i, lh[i]] <= t:
                h = lh[i]
                if counted:
                    st[i, S_EXPIRED] += lq[i, h]
                onhand[i] -= lq[i, h]
                lh[i] = h + 1 if h + 1 < MAX_LOTS else 0
                nlot[i] -= 1
            if onhand[i] < _EPS:
                onhand[i] = 0.0
            if counted:
                st[i, S_RECEIVED] += got
            if backlog[i] > 0 and onhand[i] > 0:
                take = min(backlog[i], onhand[i])
                _issue(lq, le, lh, nlot, i, take)
                onhand[i] -= take
                backlog[i] -= take
                if counted:
                    st[i, S_CONSUMED] += take
            short[i] = False

        # ---- 4. independent demand, served from stock on hand, the rest backordered
        for i in range(I):
            if itm_i[i, I_HASDEM] == 0:
                continue
            d = demand[r, t, itm_i[i, I_HASDEM] - 1]
            if d <= 0:
                continue
            served = min(d, onhand[i])
            if served > 0:
                _issue(lq, le, lh, nlot, i, served)
                onhand[i] -= served
            backlog[i] += d - served
            if counted:
                st[i, S_DEMAND] += d
                st[i, S_SERVED] += served
                st[i, S_CONSUMED] += served

        # ---- 5. batches: a batch starts only when every item of its group is on hand
        npl = planned[r, t]
        for g in range(G):
            ng = grp_n[g]
            for _ in range(npl):
                q_plan[g, (q_head[g] + q_len[g]) % qcap] = t
                q_len[g] += 1
                if counted:
                    gst[g, G_PLANNED] += 1.0
            while q_len[g] > 0:
                p = q_plan[g, q_head[g]]
                if t - p > max_delay:
                    if p >= warm:
                        gst[g, G_LOST] += 1.0
                    q_head[g] = (q_head[g] + 1) % qcap
                    q_len[g] -= 1
                    continue
                first = t == p
                ok = True
                for k in range(ng):
                    i = grp_items[g, k]
                    good = itm_f[i, F_SPARES]
                    if set_left[i] == 0:
                        good += itm_f[i, F_NEED]
                    goodq[i] = good
                    m = good
                    ptr = fptr[i]
                    if good > 0:
                        pos = tested[i]
                        ri = itm_i[i, I_RAND]
                        while ptr < F and fail_pos[r, ri, ptr] < pos + m:
                            m += 1.0
                            ptr += 1
                    req[i] = m
                    reqptr[i] = ptr
                    if m <= 0:
                        continue
                    if first and p >= warm:
                        st[i, S_BATCH_NEEDS] += 1.0
                        st[i, S_DEMAND] += m
                        st[i, S_SERVED] += min(m, onhand[i])
                        if onhand[i] + _EPS < m:
                            st[i, S_BATCH_SHORT] += 1.0
                    if onhand[i] + _EPS < m:
                        ok = False
                        short[i] = True
                if not ok:
                    # batches planned now behind the blocked one: was each item enough for them too?
                    for k in range(ng):
                        i = grp_items[g, k]
                        virt[i] = onhand[i] - (0.0 if short[i] else req[i])
                    for j in range(1, q_len[g]):
                        pj = q_plan[g, (q_head[g] + j) % qcap]
                        if pj != t or pj < warm:
                            continue
                        for k in range(ng):
                            i = grp_items[g, k]
                            if req[i] <= 0:
                                continue
                            st[i, S_BATCH_NEEDS] += 1.0
                            st[i, S_DEMAND] += req[i]
                            if virt[i] + _EPS >= req[i]:
                                st[i, S_SERVED] += req[i]
                                virt[i] -= req[i]
                            else:
                                st[i, S_SERVED] += max(virt[i], 0.0)
                                virt[i] = 0.0
                                st[i, S_BATCH_SHORT] += 1.0
                    break
                for k in range(ng):
                    i = grp_items[g, k]
                    m = req[i]
                    if m > 0:
                        _issue(lq, le, lh, nlot, i, m)
                        onhand[i] -= m
                        if onhand[i] < _EPS:
                            onhand[i] = 0.0
                        tested[i] += int(m + 0.5)
                        if p >= warm:
                            st[i, S_CONSUMED] += m
                            st[i, S_SCRAPPED] += m - goodq[i]
                    fptr[i] = reqptr[i]
                    set_left[i] = itm_i[i, I_REUSES] - 1 if set_left[i] == 0 else set_left[i] - 1
                if p >= warm:
                    gst[g, G_STARTED] += 1.0
                    if t > p:
                        gst[g, G_DELAYED] += 1.0
                        gst[g, G_DELAY_SUM] += t - p
                    else:
                        gst[g, G_ONTIME] += 1.0
                q_head[g] = (q_head[g] + 1) % qcap
                q_len[g] -= 1

        # ---- 6. the end of the period
        for i in range(I):
            if counted:
                st[i, S_PERIODS] += 1.0
                st[i, S_ONHAND] += onhand[i]
                st[i, S_BACKLOG] += backlog[i]
                if backlog[i] > _EPS or short[i]:
                    st[i, S_STOCKOUT] += 1.0
                if short[i]:
                    st[i, S_WAITING_UNITS] += req[i]
            if keep_inv:
                out_inv[r, t, i] = onhand[i]
            if trace:
                trace_il[r, t, i] = onhand[i] - backlog[i]

    for i in range(I):
        st[i, S_END_ONHAND] = onhand[i]
    for g in range(G):
        for k in range(q_len[g]):
            if q_plan[g, (q_head[g] + k) % qcap] >= warm:
                gst[g, G_WAITING] += 1.0
    out_item[r] += st
    out_lane[r] += lst
    out_group[r, :G] += gst[:G]


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_range(
    lo,
    hi,
    T,
    warm,
    max_delay,
    itm_f,
    itm_i,
    level,
    fc,
    ln_f,
    ln_i,
    src_f,
    src_i,
    src_tab,
    wadj,
    grp_items,
    grp_n,
    u_lead,
    demand,
    planned,
    up,
    fail_pos,
    out_item,
    out_lane,
    out_group,
    out_inv,
    trace_recv,
    trace_il,
    keep_inv,
    trace,
):
    """:func:`simulate_rep` for replications lo..hi−1; releases the GIL, so threads run ranges in parallel."""
    for r in range(lo, hi):
        simulate_rep(
            r,
            T,
            warm,
            max_delay,
            itm_f,
            itm_i,
            level,
            fc,
            ln_f,
            ln_i,
            src_f,
            src_i,
            src_tab,
            wadj,
            grp_items,
            grp_n,
            u_lead,
            demand,
            planned,
            up,
            fail_pos,
            out_item,
            out_lane,
            out_group,
            out_inv,
            trace_recv,
            trace_il,
            keep_inv,
            trace,
        )

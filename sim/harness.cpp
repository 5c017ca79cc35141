// The native harness: a Verilated core or network top (class Vnative, the uniform wrapper that
// spikefab.sim.native generates around it) driven in bulk from Python over stdin / stdout.
// Python sends a whole step (or a whole run of steps) and a batch of configuration commands
// at a time; the clock loop, the stream handshakes and the step barrier run here, in C++.
//
// The wrapper's ports (widths from the -D flags that spikefab.sim.native passes):
//   ev_valid ev_ready ev_data[EV_BYTES]    the top's input stream (i_event / i_input)
//   out_valid out_ready out_data[OUT_BYTES] its output stream (o_spike / o_output)
//   cfg_valid cfg_ready cfg_data[CFG_BYTES] its configuration commands (i_cfg)
//   rd_valid rd_ready rd_data[RD_BYTES]     its read data (o_rdata)
//   start done busy cycles steps            step control (a network top ties start low,
//                                           a core reports steps as 0)
//
// Requests (little-endian):
//   'P' seed(u64)                 seed the random gaps and backpressure (xorshift64*); no reply
//   'C' n(u32) {read(u8) word[CFG_BYTES]}[n]
//                                 configuration commands in order, each offered until taken;
//                                 a read then waits for its read data. Reply 'c' status(u8)
//                                 reads(u32) word[RD_BYTES][reads] now(u64)
//   'X' core(u8) ndone(u32) valid(u32) ready(u32) patience(u32) drain(u32) nwords(u32)
//       word[EV_BYTES][nwords]
//                                 run: the words go into the input stream in order (offered
//                                 with probability valid / 2^32 per clock while waiting,
//                                 0xffffffff: always), the output stream's ready is high with
//                                 probability ready / 2^32 (0xffffffff: always); with `core`,
//                                 start is raised for one clock the clock after the last word
//                                 transferred (the first clock with no words). It runs until
//                                 `ndone` done pulses (and every word has transferred: with
//                                 ndone 0, only that), samples the counters the clock after
//                                 each, then runs `drain` more clocks with ready high (anything
//                                 still offered is reported). status 1: `patience` clocks
//                                 without a transfer or a step boundary.
//                                 Reply 'x' status(u8) first(u64) last(u64) start(u64)
//                                 dones(u32) {begin(u64) end(u64) cycles(u32) steps(u32)}[dones]
//                                 outputs(u32) {clock(u64) after(u32) word[OUT_BYTES]}[outputs]
//                                 now(u64). first / last: the clocks of the first and last
//                                 input transfer (~0 without); begin: the first clock of busy;
//                                 end: the clock of done; after: done pulses before it.
//   'I' clocks(u64)               idle clocks; reply 'i' now(u64)
//   'Q'                           exit (built with coverage: write it to the path given as the
//                                 first argument)
// End of input, or the death of the parent process, also exits (as the simulated board does).

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include <sys/prctl.h>
#include <unistd.h>

#include "Vnative.h"
#include "verilated.h"

#include "pipe_io.h"
#if VM_COVERAGE
#include "verilated_cov.h"
#endif

#if !defined(EV_BYTES) || !defined(OUT_BYTES) || !defined(CFG_BYTES) || !defined(RD_BYTES)
#error "EV_BYTES, OUT_BYTES, CFG_BYTES and RD_BYTES must be defined"
#endif

namespace {

using pipe_io::get;
using pipe_io::put;
using pipe_io::read_all;
using pipe_io::write_all;

typedef std::string Word;     // a port word, little-endian bytes

// Port words to and from Verilator's types: up to 64 bits an integer, wider a VlWide.
template <typename T> void store(T &port, const Word &w) {
    uint64_t v = 0;
    std::memcpy(&v, w.data(), w.size() < 8 ? w.size() : 8);
    port = (T)v;
}

template <std::size_t N> void store(VlWide<N> &port, const Word &w) {
    for (std::size_t i = 0; i < N; i++) {
        uint32_t v = 0;
        std::size_t at = 4 * i;
        if (at < w.size()) std::memcpy(&v, w.data() + at, w.size() - at < 4 ? w.size() - at : 4);
        port[i] = v;
    }
}

template <typename T> Word load(const T &port, std::size_t n) {
    uint64_t v = (uint64_t)port;
    Word w(n, '\0');
    std::memcpy(&w[0], &v, n < 8 ? n : 8);
    return w;
}

template <std::size_t N> Word load(const VlWide<N> &port, std::size_t n) {
    Word w(n, '\0');
    for (std::size_t i = 0; i < N && 4 * i < n; i++) {
        uint32_t v = port[i];
        std::memcpy(&w[4 * i], &v, n - 4 * i < 4 ? n - 4 * i : 4);
    }
    return w;
}


bool get_word(Word *w, std::size_t n) {
    w->assign(n, '\0');
    return read_all(&(*w)[0], n);
}

const uint64_t NONE = ~(uint64_t)0;
const uint32_t ALWAYS = 0xffffffffu;

struct Done {
    uint64_t begin, end;
    uint32_t cycles, steps;
};

struct Output {
    uint64_t clock;
    uint32_t after;
    Word word;
};

class Harness {
public:
    Harness() : top_(new Vnative) {
        top_->clk = 0;
        top_->rst = 1;
        idle_inputs();
        top_->eval();
        for (int i = 0; i < 4; i++) edge();
        top_->rst = 0;
        now_ = 0;
    }
    ~Harness() {
        top_->final();
        delete top_;
    }

    void seed(uint64_t s) { rng_ = s ? s : 0x9e3779b97f4a7c15ull; }

    // One clock: the inputs set before are settled (clock low), `sample` reads the handshakes
    // of this clock, then the rising edge.
    void settle() {
        top_->clk = 0;
        top_->eval();
    }
    void edge() {
        top_->clk = 1;
        top_->eval();
        top_->clk = 0;
        now_++;
    }

    uint64_t now() const { return now_; }

    // Configuration commands; false when one is not taken (or not answered) in time.
    bool config(const std::vector<std::pair<bool, Word>> &cmds, std::vector<Word> *reads) {
        const uint64_t patience = 1000000;
        for (const auto &cmd : cmds) {
            store(top_->cfg_data, cmd.second);
            top_->cfg_valid = 1;
            uint64_t since = now_;
            for (;;) {
                settle();
                bool taken = top_->cfg_ready;
                edge();
                if (taken) break;
                if (now_ - since > patience) return false;
            }
            top_->cfg_valid = 0;
            if (!cmd.first) continue;
            top_->rd_ready = 1;
            since = now_;
            for (;;) {
                settle();
                bool got = top_->rd_valid;
                if (got) reads->push_back(load(top_->rd_data, RD_BYTES));
                edge();
                if (got) break;
                if (now_ - since > patience) return false;
            }
            top_->rd_ready = 0;
        }
        settle();
        return true;
    }

    // A run of steps (see 'X' above); status 0, or 1 when it made no progress.
    int run(bool core, uint32_t ndone, uint32_t valid, uint32_t ready, uint32_t patience,
            uint32_t drain, const std::vector<Word> &words, uint64_t *first, uint64_t *last,
            uint64_t *start, std::vector<Done> *dones, std::vector<Output> *outs) {
        std::size_t next = 0;          // the next word to offer
        bool offering = false;
        bool started = !core;          // core: start raised yet
        bool start_now = false;
        bool running = false;          // a step between its begin (busy) and its done
        bool pending = false;          // counters to sample this clock
        Done cur = {0, 0, 0, 0};
        uint64_t progress = now_;
        *first = *last = *start = NONE;
        while (dones->size() < ndone || pending || next < words.size()) {
            // drive: the input word (held once offered), ready, start
            if (!offering && next < words.size() && draw(valid)) offering = true;
            top_->ev_valid = offering;
            if (offering) store(top_->ev_data, words[next]);
            top_->out_ready = draw(ready);
            start_now = core && !started && !offering && next == words.size();
            top_->start = start_now;
            settle();
            // sample
            if (pending) {
                dones->back().cycles = (uint32_t)top_->cycles;
                dones->back().steps = (uint32_t)top_->steps;
                pending = false;
                if (dones->size() == ndone) {
                    edge();
                    break;
                }
            }
            if (offering && top_->ev_ready) {
                if (*first == NONE) *first = now_;
                *last = now_;
                offering = false;
                next++;
                progress = now_;
            }
            if (top_->out_valid && top_->out_ready) {
                outs->push_back({now_, (uint32_t)dones->size(), load(top_->out_data, OUT_BYTES)});
                progress = now_;
            }
            if (start_now) {
                started = true;
                *start = now_;
                progress = now_;
            }
            if (top_->busy && !running) {
                running = true;
                cur.begin = now_;
                progress = now_;
            }
            if (top_->done) {
                if (!running) cur.begin = now_;
                cur.end = now_;
                dones->push_back(cur);
                running = false;
                pending = true;
                progress = now_;
            }
            edge();
            if (now_ - progress > patience) {
                top_->ev_valid = 0;
                top_->start = 0;
                settle();
                return 1;
            }
        }
        top_->ev_valid = 0;
        top_->start = 0;
        top_->out_ready = 1;
        for (uint32_t i = 0; i < drain; i++) {
            settle();
            if (top_->out_valid)
                outs->push_back({now_, (uint32_t)dones->size(), load(top_->out_data, OUT_BYTES)});
            edge();
        }
        top_->out_ready = 0;
        settle();
        return 0;
    }

    void idle(uint64_t clocks) {
        for (uint64_t i = 0; i < clocks; i++) {
            settle();
            edge();
        }
        settle();
    }

private:
    void idle_inputs() {
        top_->ev_valid = 0;
        top_->out_ready = 0;
        top_->cfg_valid = 0;
        top_->rd_ready = 0;
        top_->start = 0;
    }

    // True with probability p / 2^32 (ALWAYS: true without a draw).
    bool draw(uint32_t p) {
        if (p == ALWAYS) return true;
        rng_ ^= rng_ >> 12;
        rng_ ^= rng_ << 25;
        rng_ ^= rng_ >> 27;
        uint32_t r = (uint32_t)((rng_ * 0x2545f4914f6cdd1dull) >> 32);
        return r < p;
    }

    Vnative *top_;
    uint64_t now_ = 0;
    uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace

int main(int argc, char **argv) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) return 0;
    Verilated::commandArgs(argc, argv);
    const char *cov = argc > 1 && argv[1][0] != '+' ? argv[1] : nullptr;
    int rc = 0;
    {
        Harness h;
        std::vector<Word> words;
        for (;;) {
            char op;
            if (!get(&op)) break;
            if (op == 'P') {
                uint64_t s;
                if (!get(&s)) break;
                h.seed(s);
            } else if (op == 'C') {
                uint32_t n;
                if (!get(&n)) break;
                std::vector<std::pair<bool, Word>> cmds(n);
                bool ok = true;
                for (uint32_t i = 0; i < n && ok; i++) {
                    uint8_t rd;
                    ok = get(&rd) && get_word(&cmds[i].second, CFG_BYTES);
                    cmds[i].first = rd != 0;
                }
                if (!ok) break;
                std::vector<Word> reads;
                bool done = h.config(cmds, &reads);
                std::string reply(1, 'c');
                put(&reply, (uint8_t)(done ? 0 : 1));
                put(&reply, (uint32_t)reads.size());
                for (const Word &w : reads) reply += w;
                put(&reply, h.now());
                write_all(reply.data(), reply.size());
            } else if (op == 'X') {
                uint8_t core;
                uint32_t ndone, valid, ready, patience, drain, n;
                if (!get(&core) || !get(&ndone) || !get(&valid) || !get(&ready) ||
                    !get(&patience) || !get(&drain) || !get(&n))
                    break;
                words.resize(n);
                bool ok = true;
                for (uint32_t i = 0; i < n && ok; i++) ok = get_word(&words[i], EV_BYTES);
                if (!ok) break;
                uint64_t first, last, start;
                std::vector<Done> dones;
                std::vector<Output> outs;
                int status = h.run(core != 0, ndone, valid, ready, patience, drain, words,
                                   &first, &last, &start, &dones, &outs);
                std::string reply(1, 'x');
                put(&reply, (uint8_t)status);
                put(&reply, first);
                put(&reply, last);
                put(&reply, start);
                put(&reply, (uint32_t)dones.size());
                for (const Done &d : dones) {
                    put(&reply, d.begin);
                    put(&reply, d.end);
                    put(&reply, d.cycles);
                    put(&reply, d.steps);
                }
                put(&reply, (uint32_t)outs.size());
                for (const Output &o : outs) {
                    put(&reply, o.clock);
                    put(&reply, o.after);
                    reply += o.word;
                }
                put(&reply, h.now());
                write_all(reply.data(), reply.size());
            } else if (op == 'I') {
                uint64_t clocks;
                if (!get(&clocks)) break;
                h.idle(clocks);
                std::string reply(1, 'i');
                put(&reply, h.now());
                write_all(reply.data(), reply.size());
            } else if (op == 'Q') {
                break;
            } else {
                std::fprintf(stderr, "native harness: unknown request 0x%02x\n",
                             (unsigned char)op);
                rc = 3;
                break;
            }
        }
        // the counters live in the model: written before it is destroyed
#if VM_COVERAGE
        if (cov) VerilatedCov::write(cov);
#else
        (void)cov;
#endif
    }
    return rc;
}

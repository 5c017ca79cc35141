// The simulated board: a Verilated LinkedNetwork (class Vboard) behind a pin-level UART model.
// Built by spikefab.sim.board; see docs/protocol.md ("Simulated board" and "Free-running
// simulated board behind a pty"). Two modes:
//
// Lock-step (no argument, or a VCD path): the design is clocked only when the host asks, over
// stdin / stdout with little-endian binary requests:
//   'W' gap(u32) n(u32) bytes[n]   queue n bytes for the rx pin (8N1, DIVISOR clocks per bit,
//                                  `gap` idle clocks after each byte); no reply
//   'S' n(u32) {level(u8) clocks(u32)}[n]
//                                  queue raw rx line levels (breaks, glitches, bad stop bits);
//                                  no reply
//   'R' budget(u64) quiet(u64)     clock until at least one byte came out of the tx pin and the
//                                  line then stayed idle for `quiet` clocks, or `budget` clocks
//                                  passed; reply 'r' clocks(u64) now(u64) n(u32) bytes[n]
//   'I' clocks(u64)                clock `clocks` times (bytes that come out are kept for the
//                                  next 'R'); reply 'i' now(u64)
//   'Q'                            exit
// End of input (the host died or closed the pipe) also exits.
//
// Free-running (--pty): a pseudo-terminal whose slave's path is the first line of stdout; the
// design is clocked while anything is active (bytes queued for rx, a byte coming out of tx, a
// step running, or fewer than QUIET clocks since the last of those), bytes from the pty's
// master go to the rx pin and bytes from the tx pin to the master. When quiescent it sleeps in
// poll() until bytes arrive, without advancing simulated time. SIGTERM / SIGINT end it (exit
// 0, the clocks run on stderr).
//
// In both modes the death of the parent process (PR_SET_PDEATHSIG) ends it, so the simulator
// can never outlive its host. Built with --trace (WAVES=1), it writes a VCD to the path given
// as its argument, at a nominal 1 MHz clock (time in ns).

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "Vboard.h"
#include "verilated.h"

#include "pipe_io.h"
#if VM_TRACE
#include "verilated_vcd_c.h"
#endif

#ifndef DIVISOR
#error "DIVISOR (clocks per UART bit) must be defined"
#endif
#ifndef QUIET
#error "QUIET (clocks of silence after which the pty server stops clocking) must be defined"
#endif

namespace {

using pipe_io::get;
using pipe_io::put;
using pipe_io::read_all;
using pipe_io::write_all;

struct Segment {
    uint8_t level;
    uint32_t clocks;
};

// The host's side of the rx pin: a queue of line segments, played back one clock at a time.
class LineDriver {
public:
    void push_byte(uint8_t b, uint32_t gap) {
        push(0, DIVISOR);
        for (int i = 0; i < 8; i++) push((b >> i) & 1, DIVISOR);
        push(1, DIVISOR + gap);
    }
    void push(uint8_t level, uint32_t clocks) {
        if (clocks) q_.push_back({level, clocks});
    }
    bool idle() const { return q_.empty(); }
    // The level for the next clock.
    uint8_t next() {
        if (q_.empty()) return 1;
        Segment &s = q_.front();
        uint8_t level = s.level;
        if (--s.clocks == 0) q_.pop_front();
        return level;
    }

private:
    std::deque<Segment> q_;
};

// The host's side of the tx pin: an 8N1 receiver sampling in the middle of each bit.
class LineMonitor {
public:
    // Feed the pin's level after a clock; true when a byte is complete.
    bool feed(uint8_t level, uint8_t *out) {
        if (state_ == 0) {
            if (prev_ && !level) {            // falling edge: a start bit begins
                state_ = 1;
                timer_ = DIVISOR / 2;
            }
            prev_ = level;
            return false;
        }
        prev_ = level;
        if (--timer_ != 0) return false;
        if (state_ == 1) {                    // middle of the start bit
            if (level) {
                state_ = 0;                   // a glitch
                return false;
            }
            state_ = 2;
            bit_ = 0;
            value_ = 0;
            timer_ = DIVISOR;
            return false;
        }
        if (bit_ < 8) {
            value_ |= (uint32_t)level << bit_;
            bit_++;
            timer_ = DIVISOR;
            return false;
        }
        state_ = 0;                           // middle of the stop bit
        if (!level) return false;             // framing error: dropped
        *out = (uint8_t)value_;
        return true;
    }
    bool idle() const { return state_ == 0; }

private:
    int state_ = 0;
    uint32_t timer_ = 0;
    int bit_ = 0;
    uint32_t value_ = 0;
    uint8_t prev_ = 1;
};


class Board {
public:
    explicit Board(const char *wave) : top_(new Vboard) {
#if VM_TRACE
        if (wave) {
            Verilated::traceEverOn(true);
            vcd_ = new VerilatedVcdC;
            top_->trace(vcd_, 99);
            vcd_->open(wave);
        }
#else
        (void)wave;
#endif
        top_->clk = 0;
        top_->rst = 1;
        top_->rx = 1;
        top_->eval();
        for (int i = 0; i < 4; i++) clock();
        top_->rst = 0;
        now_ = 0;
    }
    ~Board() {
        top_->final();
#if VM_TRACE
        if (vcd_) {
            vcd_->close();
            delete vcd_;
        }
#endif
        delete top_;
    }

    void clock() {
        top_->rx = drv.next();
        top_->clk = 1;
        top_->eval();
        dump(0);
        top_->clk = 0;
        top_->eval();
        dump(500);
        now_++;
        uint8_t b;
        if (mon_.feed(top_->tx, &b)) {
            out.push_back((char)b);
            quiet_ = 0;
        } else if (mon_.idle()) {
            quiet_++;
        } else {
            quiet_ = 0;
        }
    }

    // Clock until a byte came out and the line was then quiet for `quiet` clocks, or `budget`
    // clocks passed; the clocks spent.
    uint64_t run_read(uint64_t budget, uint64_t quiet) {
        uint64_t n = 0;
        while (n < budget) {
            if (!out.empty() && quiet_ >= quiet && drv.idle()) break;
            clock();
            n++;
        }
        return n;
    }

    uint64_t now() const { return now_; }
    // A step is running (the board's busy LED).
    bool busy() const { return top_->led_busy; }
    // No byte is coming out of the tx pin.
    bool tx_idle() const { return mon_.idle(); }

    void dump(uint64_t ns) {
#if VM_TRACE
        if (vcd_) vcd_->dump(now_ * 1000 + ns);
#else
        (void)ns;
#endif
    }

    LineDriver drv;
    std::string out;

private:
    Vboard *top_;
    LineMonitor mon_;
    uint64_t now_ = 0;
    uint64_t quiet_ = 0;
#if VM_TRACE
    VerilatedVcdC *vcd_ = nullptr;
#endif
};

// Lock-step mode: serve the host's requests on stdin / stdout until it quits.
int serve_pipe(Board &board) {
    std::vector<char> buf;
    for (;;) {
        char op;
        if (!get(&op)) break;
        if (op == 'W') {
            uint32_t gap, n;
            if (!get(&gap) || !get(&n)) break;
            buf.resize(n);
            if (n && !read_all(buf.data(), n)) break;
            for (uint32_t i = 0; i < n; i++) board.drv.push_byte((uint8_t)buf[i], gap);
        } else if (op == 'S') {
            uint32_t n;
            if (!get(&n)) break;
            bool ok = true;
            for (uint32_t i = 0; i < n && ok; i++) {
                uint8_t level;
                uint32_t clocks;
                ok = get(&level) && get(&clocks);
                if (ok) board.drv.push(level ? 1 : 0, clocks);
            }
            if (!ok) break;
        } else if (op == 'R') {
            uint64_t budget, quiet;
            if (!get(&budget) || !get(&quiet)) break;
            uint64_t spent = board.run_read(budget, quiet);
            std::string reply(1, 'r');
            put(&reply, spent);
            put(&reply, board.now());
            put(&reply, (uint32_t)board.out.size());
            reply += board.out;
            board.out.clear();
            write_all(reply.data(), reply.size());
        } else if (op == 'I') {
            uint64_t clocks;
            if (!get(&clocks)) break;
            for (uint64_t i = 0; i < clocks; i++) board.clock();
            std::string reply(1, 'i');
            put(&reply, board.now());
            write_all(reply.data(), reply.size());
        } else if (op == 'Q') {
            break;
        } else {
            std::fprintf(stderr, "simboard: unknown request 0x%02x\n", (unsigned char)op);
            return 3;
        }
    }
    return 0;
}

// -- free-running mode behind a pseudo-terminal ----------------------------------------------

// Clocks between two looks at the pty (a byte is 10 * DIVISOR clocks).
constexpr int kCheckEvery = 64;
// How long a quiescent board sleeps in poll() before it looks again (ms).
constexpr int kPollMs = 20;

volatile std::sig_atomic_t g_stop = 0;

void on_stop(int) { g_stop = 1; }

double wall_seconds() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// The server's end of a pseudo-terminal: the master (non-blocking) and a raw fd to the slave
// that stays open, so that the master never sees EIO or a hangup when a client closes the
// slave, and the client finds the line already raw.
class Pty {
public:
    ~Pty() {
        if (slave_ >= 0) close(slave_);
        if (master_ >= 0) close(master_);
    }

    bool open_pair() {
        master_ = posix_openpt(O_RDWR | O_NOCTTY);
        if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) {
            std::perror("simboard: posix_openpt");
            return false;
        }
        const char *name = ptsname(master_);
        if (!name) {
            std::perror("simboard: ptsname");
            return false;
        }
        path = name;
        slave_ = open(name, O_RDWR | O_NOCTTY);
        termios t;
        if (slave_ < 0 || tcgetattr(slave_, &t) != 0) {
            std::perror("simboard: opening the pty's slave");
            return false;
        }
        cfmakeraw(&t);
        if (tcsetattr(slave_, TCSANOW, &t) != 0 ||
            fcntl(master_, F_SETFL, fcntl(master_, F_GETFL) | O_NONBLOCK) != 0) {
            std::perror("simboard: setting up the pty");
            return false;
        }
        return true;
    }

    // Queue the bytes that the client wrote onto the rx pin; how many there were.
    size_t pull(LineDriver *drv) {
        char buf[4096];
        size_t total = 0;
        for (;;) {
            ssize_t k = read(master_, buf, sizeof buf);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) return total;      // EAGAIN: nothing more for now
            for (ssize_t i = 0; i < k; i++) drv->push_byte((uint8_t)buf[i], 0);
            total += (size_t)k;
        }
    }

    // Write what came out of the tx pin (and what the client has not taken yet).
    void push(std::string *out) {
        pending_ += *out;
        out->clear();
        while (!pending_.empty()) {
            ssize_t k = write(master_, pending_.data(), pending_.size());
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) return;           // EAGAIN: the client is not reading
            pending_.erase(0, (size_t)k);
        }
    }

    // Sleep until the client writes (or can take the bytes still pending), a signal, or
    // kPollMs; the seconds slept.
    double wait() {
        pollfd p = {master_, (short)(POLLIN | (pending_.empty() ? 0 : POLLOUT)), 0};
        double t0 = wall_seconds();
        poll(&p, 1, kPollMs);
        return wall_seconds() - t0;
    }

    std::string path;

private:
    int master_ = -1;
    int slave_ = -1;
    std::string pending_;
};

// Free-running mode: serve the board on a pseudo-terminal until SIGTERM / SIGINT. The design
// is clocked while anything is active, and for QUIET clocks after (so that a frame cut short
// still times out in simulated time and a step started by RUN finishes); a quiescent board
// waits in poll() and its simulated time stands still.
int serve_pty(Board &board) {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;               // no SA_RESTART: poll() returns on the signal
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    Pty pty;
    if (!pty.open_pair()) return 4;
    std::printf("%s\n", pty.path.c_str());
    std::fflush(stdout);
    double t0 = wall_seconds(), slept = 0;
    uint64_t start = board.now(), since = QUIET;
    while (!g_stop) {
        if (pty.pull(&board.drv)) since = 0;
        pty.push(&board.out);
        if (since >= QUIET) {
            slept += pty.wait();
            continue;
        }
        for (int i = 0; i < kCheckEvery; i++) {
            board.clock();
            bool active = !board.drv.idle() || !board.tx_idle() || board.busy();
            since = active ? 0 : since + 1;
        }
    }
    double wall = wall_seconds() - t0, run = wall - slept;
    uint64_t clocks = board.now() - start;
    std::fprintf(stderr, "simboard: %llu clocks in %.3f s of clocking (%.0f clocks/s), "
                 "%.3f s served\n", (unsigned long long)clocks, run,
                 run > 0 ? (double)clocks / run : 0.0, wall);
    return 0;
}
}  // namespace

int main(int argc, char **argv) {
    // Die with the host, even if it is killed without closing the pipe.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) return 0;
    Verilated::commandArgs(argc, argv);
    bool pty = false;
    const char *wave = nullptr;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--pty") == 0) pty = true;
        else if (argv[i][0] != '+' && !wave) wave = argv[i];
    }
    Board board(wave);
    return pty ? serve_pty(board) : serve_pipe(board);
}

#include "proxy/capture/command_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace remora::capture {

namespace {

using base::Error;
using base::fail;

std::string errnoText(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

// Closes an fd once; -1 means already closed.
void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct Pipes {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  ~Pipes() {
    for (int* p : {in, out, err}) {
      closeFd(p[0]);
      closeFd(p[1]);
    }
  }
};

// A write to a pipe whose reader is gone raises SIGPIPE, which would kill
// `remora-proxy init`. Blocking it for this thread turns it into EPIPE; a
// signal left pending by that write is consumed before unblocking.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      timespec zero = {0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

bool isExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

base::Result<std::string> findExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs;
  if (const char* path = std::getenv("PATH")) dirs = path;
  dirs += ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(start, colon - start);
    start = colon + 1;
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (isExecutable(candidate)) return candidate;
  }
  return fail(Error::kNotFound, name + ": not found in $PATH, /usr/sbin or /sbin");
}

base::Result<CommandOutput> runCommand(const std::vector<std::string>& args, const std::string& stdin_text,
                                       std::chrono::milliseconds timeout) {
  if (args.empty()) return fail(Error::kInvalidArgument, "runCommand: no program");
  auto program = findExecutable(args[0]);
  if (!program) return program.error();

  Pipes pipes;
  for (int* p : {pipes.in, pipes.out, pipes.err}) {
    if (::pipe2(p, O_CLOEXEC) != 0) return fail(Error::kIo, errnoText("pipe2", errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipes.in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipes.out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipes.err[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv[0] = const_cast<char*>(program->c_str());
  argv.push_back(nullptr);

  SigpipeGuard sigpipe_guard;
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program->c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail(Error::kIo, errnoText(("spawn " + *program).c_str(), rc));
  closeFd(pipes.in[0]);
  closeFd(pipes.out[1]);
  closeFd(pipes.err[1]);
  ::fcntl(pipes.in[1], F_SETFL, ::fcntl(pipes.in[1], F_GETFL) | O_NONBLOCK);
  if (stdin_text.empty()) closeFd(pipes.in[1]);

  CommandOutput output;
  size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (pipes.in[1] >= 0 || pipes.out[0] >= 0 || pipes.err[0] >= 0) {
    pollfd fds[3];
    nfds_t n = 0;
    if (pipes.in[1] >= 0) fds[n++] = {pipes.in[1], POLLOUT, 0};
    if (pipes.out[0] >= 0) fds[n++] = {pipes.out[0], POLLIN, 0};
    if (pipes.err[0] >= 0) fds[n++] = {pipes.err[0], POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int ready = ::poll(fds, n, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == pipes.in[1]) {
        ssize_t w = ::write(pipes.in[1], stdin_text.data() + written, stdin_text.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE: the child stopped reading; what it says on stderr explains why.
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_text.size()) closeFd(pipes.in[1]);
        continue;
      }
      char buf[4096];
      ssize_t r = ::read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        (fds[i].fd == pipes.out[0] ? output.stdout_text : output.stderr_text).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        closeFd(fds[i].fd == pipes.out[0] ? pipes.out[0] : pipes.err[0]);
      }
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return fail(Error::kIo, *program + ": still running after " + std::to_string(timeout.count()) + " ms, killed");
  }
  output.exit_code = exitCodeOf(status);
  return output;
}

}  // namespace remora::capture

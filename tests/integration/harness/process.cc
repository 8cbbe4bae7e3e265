#include "tests/integration/harness/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <thread>

extern char** environ;

namespace remora::harness {
namespace {

using base::Error;
using base::fail;

// The child's environment: ours, with `overrides` replacing or adding entries.
std::vector<std::string> buildEnvironment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view key = text.substr(0, text.find('='));
    bool replaced = false;
    for (const auto& [name, value] : overrides) replaced = replaced || key == name;
    if (!replaced) result.emplace_back(text);
  }
  for (const auto& [name, value] : overrides) result.push_back(name + "=" + value);
  return result;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

int decodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

base::Result<Process> Process::start(ProcessOptions options) {
  if (options.args.empty()) return fail(Error::kInvalidArgument, "Process::start: no program given");
  Process process;
  if (options.output_dir.empty()) {
    process.own_dir_ = std::make_unique<TempDir>("remora-proc");
    options.output_dir = process.own_dir_->path();
  }
  const std::string name =
      options.name.empty() ? std::filesystem::path(options.args[0]).filename().string() : options.name;
  process.stdout_path_ = options.output_dir + "/" + name + ".stdout";
  process.stderr_path_ = options.output_dir + "/" + name + ".stderr";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, process.stdout_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, process.stderr_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);

  // A test runner may block or ignore signals (SIGPIPE, SIGTERM); the child
  // must start with defaults or stop() would not stop it.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> args = options.args;
  std::vector<std::string> env = buildEnvironment(options.env);
  std::vector<char*> argv = pointers(args);
  std::vector<char*> envp = pointers(env);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return fail(Error::kIo, "posix_spawn " + options.args[0] + ": " + std::strerror(rc));
  }
  process.pid_ = pid;
  return process;
}

Process::~Process() { release(); }

Process::Process(Process&& other) noexcept
    : pid_(other.pid_),
      exit_code_(other.exit_code_),
      own_dir_(std::move(other.own_dir_)),
      stdout_path_(std::move(other.stdout_path_)),
      stderr_path_(std::move(other.stderr_path_)) {
  other.pid_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = other.pid_;
    exit_code_ = other.exit_code_;
    own_dir_ = std::move(other.own_dir_);
    stdout_path_ = std::move(other.stdout_path_);
    stderr_path_ = std::move(other.stderr_path_);
    other.pid_ = -1;
  }
  return *this;
}

void Process::release() {
  if (pid_ > 0 && !exit_code_) stop();
  pid_ = -1;
}

bool Process::tryReap() {
  if (exit_code_) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_code_ = decodeWaitStatus(status);
    return true;
  }
  // ECHILD: someone else reaped it (should not happen); treat as gone.
  if (r < 0) {
    exit_code_ = -1;
    return true;
  }
  return false;
}

bool Process::running() { return pid_ > 0 && !tryReap(); }

base::Status Process::signal(int signo) {
  if (pid_ <= 0) return fail(Error::kInvalidArgument, "no process");
  // A reaped PID may already belong to someone else: never signal it.
  if (tryReap()) return fail(Error::kNotFound, "process " + std::to_string(pid_) + " already exited");
  if (::kill(pid_, signo) != 0) {
    return fail(Error::kIo, "kill(" + std::to_string(pid_) + "): " + std::strerror(errno));
  }
  return base::Status::ok();
}

base::Result<int> Process::waitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return fail(Error::kInvalidArgument, "no process");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (!tryReap()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Error::kIo, "process " + std::to_string(pid_) + " still running after " +
                                  std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return *exit_code_;
}

int Process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (!tryReap()) {
    (void)signal(SIGTERM);
    if (!waitExit(grace)) {
      (void)signal(SIGKILL);
      (void)waitExit(std::chrono::seconds(10));
    }
  }
  return exit_code_.value_or(-1);
}

std::string Process::readStdout() const {
  auto content = readFile(stdout_path_);
  return content ? *content : std::string();
}

std::string Process::readStderr() const {
  auto content = readFile(stderr_path_);
  return content ? *content : std::string();
}

std::string CommandResult::describe() const {
  std::string text = timed_out ? "timed out" : "exit code " + std::to_string(exit_code);
  text += "\n--- stdout ---\n" + stdout_text + "\n--- stderr ---\n" + stderr_text;
  return text;
}

CommandResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                  const std::vector<std::pair<std::string, std::string>>& env) {
  CommandResult result;
  auto process = Process::start(ProcessOptions{args, env, "", ""});
  if (!process) {
    result.exit_code = 127;
    result.stderr_text = process.error().message;
    return result;
  }
  auto code = process->waitExit(timeout);
  if (code) {
    result.exit_code = *code;
  } else {
    result.timed_out = true;
    (void)process->signal(SIGKILL);
    (void)process->waitExit(std::chrono::seconds(10));
  }
  result.stdout_text = process->readStdout();
  result.stderr_text = process->readStderr();
  return result;
}

}  // namespace remora::harness

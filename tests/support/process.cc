#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace txmon::test {

namespace {

bool IsExecutable(const std::string& path) {
  struct stat status;
  return stat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

// Resolved before fork: execvp may allocate, which a child of a
// multi-threaded parent must not do.
std::optional<std::string> FindBinary(const std::string& binary) {
  if (binary.find('/') != std::string::npos) {
    if (IsExecutable(binary)) return binary;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::stringstream directories(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    std::string candidate = (directory.empty() ? "." : directory) + "/" + binary;
    if (IsExecutable(candidate)) return candidate;
  }
  return std::nullopt;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

[[noreturn]] void ExitWithErrno(int status_pipe, int error) {
  ssize_t ignored = write(status_pipe, &error, sizeof error);
  (void)ignored;
  _exit(127);
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(const char* binary, char** argv, char** envp, const char* directory,
                            const char* stdout_path, const char* stderr_path, int status_pipe,
                            pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  int input = open("/dev/null", O_RDONLY);
  int output = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int errors = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (input < 0 || output < 0 || errors < 0) ExitWithErrno(status_pipe, errno);
  if (dup2(input, 0) < 0 || dup2(output, 1) < 0 || dup2(errors, 2) < 0) {
    ExitWithErrno(status_pipe, errno);
  }
  if (directory[0] != '\0' && chdir(directory) != 0) ExitWithErrno(status_pipe, errno);
  execve(binary, argv, envp);
  ExitWithErrno(status_pipe, errno);
}

std::string ReadTail(const std::string& path, size_t max_bytes) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return "";
  std::streamoff size = file.tellg();
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                             ? size - static_cast<std::streamoff>(max_bytes)
                             : 0;
  file.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::unique_ptr<Process> Process::Start(const ProcessOptions& options, std::string* error) {
  std::optional<std::string> binary = FindBinary(options.binary);
  if (!binary) {
    *error = "cannot run " + options.binary + ": no such executable";
    return nullptr;
  }
  std::vector<std::string> arguments = {options.binary};
  arguments.insert(arguments.end(), options.args.begin(), options.args.end());
  std::vector<std::string> environment;
  for (char** variable = environ; *variable != nullptr; ++variable)
    environment.push_back(*variable);
  environment.insert(environment.end(), options.environment.begin(), options.environment.end());
  std::vector<char*> argv = CStrings(arguments);
  std::vector<char*> envp = CStrings(environment);
  std::string stdout_path = options.stdout_path.empty() ? "/dev/null" : options.stdout_path;
  std::string stderr_path = options.stderr_path.empty() ? "/dev/null" : options.stderr_path;

  // The child reports a failed exec through this pipe; a successful exec
  // closes it (O_CLOEXEC) and the parent reads end-of-file.
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(status_pipe[0]);
    close(status_pipe[1]);
    return nullptr;
  }
  if (pid == 0) {
    close(status_pipe[0]);
    ExecChild(binary->c_str(), argv.data(), envp.data(), options.working_directory.c_str(),
              stdout_path.c_str(), stderr_path.c_str(), status_pipe[1], parent);
  }
  close(status_pipe[1]);
  int child_errno = 0;
  ssize_t read_bytes;
  do {
    read_bytes = read(status_pipe[0], &child_errno, sizeof child_errno);
  } while (read_bytes < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (read_bytes > 0) {
    waitpid(pid, nullptr, 0);
    *error = "cannot run " + *binary + ": " + std::strerror(child_errno);
    return nullptr;
  }
  return std::unique_ptr<Process>(new Process(options, pid));
}

Process::~Process() { Stop(); }

bool Process::Running() {
  if (exit_code_) return false;
  int status = 0;
  pid_t result = waitpid(pid_, &status, WNOHANG);
  if (result == pid_) exit_code_ = ExitCode(status);
  return !exit_code_;
}

void Process::Signal(int signal) {
  if (exit_code_) return;
  // The group first; the child itself too, in case it left the group.
  kill(-pid_, signal);
  kill(pid_, signal);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_code_;
}

int Process::Stop(std::chrono::milliseconds grace) {
  if (exit_code_) return *exit_code_;
  Signal(SIGTERM);
  if (std::optional<int> code = Wait(grace)) {
    kill(-pid_, SIGKILL);  // helpers the child left behind
    return *code;
  }
  Signal(SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  exit_code_ = ExitCode(status);
  kill(-pid_, SIGKILL);
  return *exit_code_;
}

std::string Process::Stdout(size_t max_bytes) const {
  return options_.stdout_path.empty() ? "" : ReadTail(options_.stdout_path, max_bytes);
}

std::string Process::Stderr(size_t max_bytes) const {
  return options_.stderr_path.empty() ? "" : ReadTail(options_.stderr_path, max_bytes);
}

}  // namespace txmon::test

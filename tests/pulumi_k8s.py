"""What pulumi-kubernetes prints when a Job it awaits fails: the format strings of its await code,
transcribed (pulumi/pulumi-kubernetes at v4.32.0, the newest tag of the snapshot read; the await,
checker and error code unchanged to its newest commit, 2026-07-01; the installed 4.34.2 itself not
read):

- provider/pkg/await/checker/pod/check.go: a pod's message is `[Pod <ns>/<name>]: ` followed by its
  Ready condition's message (when the condition has a reason and a message) and, with no
  separator, the container's error; a terminated container's error is `[<reason>] <message>`
  (state.terminated.message), or `container "<name>" completed with exit code <n>` without one
  (L143-158, L204-221).
- provider/pkg/await/checker/job/check.go L94-103: a Failed Job is `[<reason>] <message>` for the
  reasons BackoffLimitExceeded and DeadlineExceeded.
- provider/pkg/provider/provider.go L1871-1878, L3163-3176: the resource's error lists them under
  `resource "<urn>" was successfully created, but the Kubernetes API server reported that it failed
  to fully initialize or become live: Resource '<name>' was created but failed to initialize`, as a
  go-multierror list.
"""

from __future__ import annotations

from typing import Optional


def pod_name(namespace: str, name: str) -> str:
    """checker/pod/check.go L204-210: the namespace is left out for `default`."""
    return name if namespace in ("", "default") else f"{namespace}/{name}"


def container_terminated_error(container: str, reason: str, exit_code: int, message: str) -> Optional[str]:
    if not reason:
        return None
    if message:
        return f"[{reason}] {message}"
    return f'container "{container}" completed with exit code {exit_code}'


def pod_error(condition_reason: str, condition_message: str, error: Optional[str], pod: str) -> str:
    text = f"[Pod {pod}]: "
    if condition_reason and condition_message:
        text += condition_message
    return text + (error or "")


def job_failed_error(reason: str, message: str) -> Optional[str]:
    return f"[{reason}] {message}" if reason in ("BackoffLimitExceeded", "DeadlineExceeded") else None


def failed_job_text(urn: str, job: str, sub_errors: list[str]) -> str:
    """The error `pulumi up` shows for the Job (go-multierror's list format)."""
    first = (f'resource "{urn}" was successfully created, but the Kubernetes API server reported that it failed to '
             f"fully initialize or become live: Resource '{job}' was created but failed to initialize")
    reasons = [first, *sub_errors]
    if len(reasons) == 1:
        return f"1 error occurred:\n\t* {reasons[0]}\n\n"
    return f"{len(reasons)} errors occurred:\n\t" + "\n\t".join(f"* {r}" for r in reasons) + "\n\n"

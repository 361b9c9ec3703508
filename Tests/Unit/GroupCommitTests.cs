using LlmCostTracker.Shared;

namespace LlmCostTracker.Tests.Unit;

public sealed class GroupCommitTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Entries_waiting_while_a_commit_runs_go_together_into_the_next_up_to_the_weight_limit()
    {
        var firstStarted = new TaskCompletionSource();
        var releaseFirst = new TaskCompletionSource();
        var groups = new List<int[]>();
        var commits = new GroupCommit<int>(new GroupCommitOptions<int>
        {
            Weight = n => n,
            MaxWeight = 10,
            Commit = async (group, weight, _) =>
            {
                lock (groups)
                {
                    groups.Add([.. group]);
                }

                Assert.Equal(group.Sum(), weight);
                if (groups.Count == 1)
                {
                    firstStarted.SetResult();
                    await releaseFirst.Task;
                }
            },
        });
        var run = commits.RunAsync(CancellationToken.None);

        Assert.True(commits.TryAdd(1));
        await firstStarted.Task.WaitAsync(Bound);
        foreach (var n in new[] { 4, 4, 4, 3 })
        {
            Assert.True(commits.TryAdd(n));
        }

        Assert.Equal(15, commits.WaitingWeight);
        Assert.Equal(4, commits.WaitingEntries);
        releaseFirst.SetResult();
        commits.Complete();
        await run.WaitAsync(Bound);

        // A group stops once it weighs the limit or more: 4+4+4 (12), then 3.
        Assert.Equal([[1], [4, 4, 4], [3]], groups);
        Assert.Equal(0, commits.WaitingWeight);
    }

    [Fact]
    public void A_full_queue_refuses_and_a_completed_one_takes_nothing_more()
    {
        var gate = new TaskCompletionSource();
        var commits = new GroupCommit<int>(new GroupCommitOptions<int> { Capacity = 2, Commit = (_, _, _) => gate.Task });

        Assert.True(commits.TryAdd(1));
        Assert.True(commits.TryAdd(2));
        Assert.False(commits.TryAdd(3));
        Assert.Equal(2, commits.WaitingEntries);

        commits.Complete();
        Assert.False(commits.TryAdd(4));
        Assert.True(commits.TryTakeLeftOver(out var left));
        Assert.Equal(1, left);
    }

    [Fact]
    public async Task Before_take_runs_ahead_of_each_group_and_sees_what_waits()
    {
        var seen = new List<long>();
        var committed = new TaskCompletionSource<IReadOnlyList<int>>();
        var commits = new GroupCommit<int>(new GroupCommitOptions<int>
        {
            BeforeTake = (self, _) =>
            {
                seen.Add(self.WaitingWeight);
                return Task.CompletedTask;
            },
            Commit = (group, _, _) =>
            {
                committed.TrySetResult([.. group]);
                return Task.CompletedTask;
            },
        });
        Assert.True(commits.TryAdd(7));
        Assert.True(commits.TryAdd(8));

        var run = commits.RunAsync(CancellationToken.None);

        Assert.Equal([7, 8], await committed.Task.WaitAsync(Bound));
        commits.Complete();
        await run.WaitAsync(Bound);
        Assert.Equal([2], seen);
    }
}

using System;
using Spectre.Console;

namespace P2pEmu.Cli;

/// <summary>
/// The stages of a run as rows of a progress table (Spectre.Console) on an interactive console, or nothing: the code
/// that runs the stages is the same either way.
/// </summary>
internal sealed class RunStages
{
    private static readonly RunStages s_silent = new(null);
    private readonly ProgressContext? _context;

    private RunStages(ProgressContext? context) => _context = context;

    /// <summary>
    /// Runs <paramref name="work"/> with a progress table on <paramref name="console"/>, left on screen when it is done
    /// so the report follows it; without a console, silently.
    /// </summary>
    public static T Show<T>(IAnsiConsole? console, Func<RunStages, T> work)
    {
        if (console is null)
        {
            return work(s_silent);
        }

        return console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context => work(new RunStages(context)));
    }

    /// <summary>A new row; <paramref name="steps"/> null makes it indeterminate.</summary>
    public Stage Add(string description, double? steps)
    {
        ProgressTask? task = _context?.AddTask(Markup.Escape(description), autoStart: true, maxValue: steps ?? 1);
        if (task is not null && steps is null)
        {
            task.IsIndeterminate = true;
        }

        return new Stage(task);
    }

    /// <summary>One row of the table.</summary>
    internal sealed class Stage
    {
        public const int MaxDescription = 64;

        private readonly ProgressTask? _task;

        public Stage(ProgressTask? task) => _task = task;

        public void Advance(double steps = 1) => _task?.Increment(steps);

        public void SetValue(double value)
        {
            if (_task is not null)
            {
                _task.Value = Math.Min(value, _task.MaxValue);
            }
        }

        /// <summary>A new description, cut to <see cref="MaxDescription"/> characters so that a row stays one line.</summary>
        public void Describe(string description)
        {
            if (_task is not null)
            {
                _task.Description = Markup.Escape(description.Length <= MaxDescription ? description : description[..(MaxDescription - 3)] + "...");
            }
        }

        public void Done()
        {
            if (_task is not null)
            {
                _task.IsIndeterminate = false;
                _task.Value = _task.MaxValue;
                _task.StopTask();
            }
        }
    }
}

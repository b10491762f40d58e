// The export formats: each makes its files from a checkpoint's model.
import { ExportedModel, ExportFile } from './exported-model';
import { TORCH_FORMAT } from './torch';

export interface ExportFormat {
  /** What --help says it writes. */
  help: string;
  files(model: ExportedModel): ExportFile[];
}

export const EXPORT_FORMATS: Record<string, ExportFormat> = {
  torch: TORCH_FORMAT,
};
